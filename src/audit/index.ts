export { canonicalJson } from './canonical-json.ts';
export { CSV_COLUMNS, csvField, type ExportOptions, exportAudit } from './export.ts';
export { GENESIS_HASH, hashEntry, RedisAuditLog, type RedisAuditLogOptions } from './redis-audit-log.ts';
export type * from './types.ts';
