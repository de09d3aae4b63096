import { formatDurationShort } from '../../report/offboarding-report.ts';
import type { OffboardingSummary } from '../../report/report-summary-source.ts';
import type { KnownBlock } from '../block-kit.ts';
import { mrkdwn, plain } from '../block-kit.ts';

/**
 * App Home's offboarding summary for admins and approvers: the last 30 days' count, p95 of effective →
 * verified and SLA breaches, from the audit log (`revoker report` has the rows). Two blocks, so the tab
 * stays within Slack's 100-block limit with its three lists full. Pure.
 */
export function buildReportSummaryBlocks(s: OffboardingSummary): KnownBlock[] {
  const sum = s.summary;
  return [
    { type: 'header', text: plain(`Offboarding, last ${s.days} days`) },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Offboardings*\n${sum.count}`),
        mrkdwn(`*p95 effective → verified*\n${formatDurationShort(sum.p95Ms)}`),
        mrkdwn(`*Over the ${formatDurationShort(s.slaMs)} SLA*\n${sum.slaBreaches}`),
        mrkdwn(
          `*Unverifiable / failed / cancelled*\n${sum.unverifiable} / ${sum.failed} / ${sum.cancelled}${s.chainOk ? '' : '\n:warning: audit chain does not verify'}`,
        ),
      ],
    },
  ];
}
