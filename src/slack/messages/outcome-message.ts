import type { RequestRecord } from '../../intake/types.ts';
import type { MessageBody } from '../block-kit.ts';
import { context, section } from '../block-kit.ts';
import { escapeText, plainText } from '../escape.ts';
import { statusLine, targetText } from './request-summary.ts';

/** The DM to a Slack requester once their request is decided or done. */
export function buildOutcomeDm(r: RequestRecord): MessageBody {
  const line = statusLine(r);
  return {
    text: plainText(`Your revocation of ${targetText(r)}: ${line}`, 3000),
    blocks: [
      section(`Your revocation of *${targetText(r)}*`),
      section(line),
      context(`Request \`${escapeText(r.id, 128)}\``),
    ],
  };
}
