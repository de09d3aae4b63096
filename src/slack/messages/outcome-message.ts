import type { RequestRecord } from '../../intake/types.ts';
import type { MessageBody } from '../block-kit.ts';
import { context, section } from '../block-kit.ts';
import { escapeText, plainText } from '../escape.ts';
import { connectionLines } from './connection-lines.ts';
import { connectionSuffix, statusLine, targetText } from './request-summary.ts';

/** The DM to a Slack requester once their request is decided or done (naming its connection when several). */
export function buildOutcomeDm(
  r: RequestRecord,
  options: { severalConnections?: boolean } = {},
): MessageBody {
  const line = statusLine(r);
  const lines = connectionLines(r, 2900);
  const where = connectionSuffix(r, options.severalConnections);
  return {
    text: plainText(`Your revocation of ${targetText(r)}${where}: ${line}`, 3000),
    blocks: [
      section(`Your revocation of *${targetText(r)}*${where}`),
      section(line),
      ...(lines ? [section(lines)] : []),
      context(`Request \`${escapeText(r.id, 128)}\``),
    ],
  };
}
