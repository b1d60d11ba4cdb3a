/**
 * rtc-battery/kysely: a Kysely dialect over a Battery. Kysely is a peer dependency; this entry
 * imports the library itself from 'rtc-battery'.
 */
export { BatteryDialect, type BatteryDialectConfig, type BatteryExec } from './battery-dialect.js';
