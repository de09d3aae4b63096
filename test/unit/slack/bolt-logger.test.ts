import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { boltLogger } from '../../../src/slack/bolt-logger.ts';

/** What Bolt, the Web API client and Socket Mode write at debug reaches our log without its payload. */
describe('boltLogger', () => {
  const capture = () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    return { lines, log: boltLogger(logger) };
  };
  const SECRET = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYXJvbCJ9.c2lnbmF0dXJlLXNlY3JldA';

  it('drops the frame a library logs at debug, keeps its words', () => {
    const { lines, log } = capture();
    log.debug(
      `Received a message on the WebSocket: {"envelope_id":"1","payload":{"view":{"state":{"values":{"b":{"a":{"value":"${SECRET}"}}}}}}}`,
    );
    log.debug(`ack() call begins (body: ${JSON.stringify({ errors: { b: SECRET } })})`);
    log.debug({ view: { state: SECRET } });
    log.warn(new Error(`failed: [${SECRET}]`));
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines[0]).toContain('Received a message on the WebSocket: [payload omitted]');
    expect(lines).toHaveLength(4);
  });
});
