import { type RequestHandler, Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/types.ts';
import { isCodedError } from '../domain/errors.ts';
import { renderHtml } from '../report/report-html.ts';
import { createReport, periodBound } from '../report/report-service.ts';
import { formatCsv, formatJson } from '../report/report-text.ts';
import { type DashboardAuthOptions, dashboardAuth } from './dashboard.ts';
import { jsonError } from './errors.ts';

export interface AdminReportOptions {
  /** The audit log the report is built from. */
  audit: AuditLog;
  /** OFFBOARDING_SLA in ms. */
  slaMs: number;
  /** AUDIT_ARCHIVE_DIR: periods older than what Redis keeps are read from it. Default: Redis only. */
  archiveDir?: string;
  /** HR_TIME_ZONE: a date in `since`/`until` is a day on this clock. Default UTC. */
  timeZone?: string;
  /** Default `() => new Date()`. */
  clock?: () => Date;
}

export const ADMIN_REPORT_PATH = '/admin/report';

const QuerySchema = z.object({
  since: z.string().max(40).optional(),
  until: z.string().max(40).optional(),
  format: z.enum(['html', 'json', 'csv']).default('html'),
});

/**
 * The page `revoker report --format html` writes, served read-only to the dashboard's users (same basic
 * auth, same Redis-backed lockout): `GET /admin/report?since=YYYY-MM-DD&until=YYYY-MM-DD[&format=json|csv]`.
 * The page has no script, so the policy forbids every script and every outside load.
 */
export function adminReportRouter(options: AdminReportOptions & DashboardAuthOptions): Router {
  const router = Router();
  const clock = options.clock ?? (() => new Date());
  const headers: RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    next();
  };
  router.use(dashboardAuth(options), headers);
  router.get('/', async (req, res) => {
    const query = QuerySchema.safeParse(req.query);
    if (!query.success) {
      jsonError(
        res,
        400,
        'invalid_query',
        'since and until are dates (YYYY-MM-DD) or ISO-8601 times; format is html, json or csv',
      );
      return;
    }
    const zone = options.timeZone ?? 'UTC';
    const now = clock();
    let since: Date;
    let until: Date;
    try {
      until = query.data.until ? periodBound(query.data.until, zone, 'until') : now;
      since = query.data.since
        ? periodBound(query.data.since, zone, 'since')
        : new Date(until.getTime() - 30 * 86_400_000);
      if (!(since.getTime() < until.getTime())) throw new Error('since must be before until');
    } catch (err) {
      jsonError(res, 400, 'invalid_period', isCodedError(err) ? err.message : (err as Error).message);
      return;
    }
    const report = await createReport(options.audit, {
      since,
      until,
      asOf: now,
      slaMs: options.slaMs,
      ...(options.archiveDir !== undefined ? { archiveDir: options.archiveDir } : {}),
    });
    const day = (d: string) => d.slice(0, 10);
    const name = `revoker-report-${day(report.period.since)}-${day(report.period.until)}`;
    switch (query.data.format) {
      case 'html':
        res.type('html').send(renderHtml(report));
        return;
      case 'json':
        res.type('json').send(formatJson(report));
        return;
      case 'csv':
        res.setHeader('Content-Disposition', `attachment; filename="${name}.csv"`);
        res.type('csv').send(formatCsv(report));
        return;
    }
  });
  router.all('/', (_req, res) => {
    res.setHeader('Allow', 'GET, HEAD');
    jsonError(res, 405, 'read_only', 'the report is read-only');
  });
  return router;
}
