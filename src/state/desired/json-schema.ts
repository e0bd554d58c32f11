import { constants } from 'node:os';
import { DEPENDENCY_CONDITIONS, LIMIT_KINDS, type LimitKind } from './schema.js';
import { BACKOFF_FIELDS, HEALTH_FIELDS, LIMIT_FIELDS, LOG_FIELDS, RESTART_FIELDS, STOP_FIELDS } from './sections.js';
import { INPUT_LIMITS } from './input-check.js';
import { PROGRAM_FIELDS, PROGRAM_NAME } from './validate.js';
import { TOP_FIELDS } from './top-fields.js';
import { NOTIFY_KINDS } from './notify.js';

/**
 * state.yaml as a JSON Schema (draft-07, what editors support best), for completion and
 * early squiggles. Every section's keys come from the validator's own field lists (a field
 * missing here is a compile error), and a test runs both on generated documents. tend's
 * validator stays the judge and the source of `file:line:col` messages; a few checks need
 * more than a schema can say, and only `tend validate` makes them: cron expressions and
 * time zones, dependencies (names, cycles, conditions), quoting inside a command string,
 * `backoff.max >= backoff.initial`, upper bounds written as strings (366d, 1Pi, 100ms
 * minimum interval), total instances, argument and environment sizes, and the host
 * (commands on PATH, directories, users).
 */
export type JsonSchema = Record<string, unknown>;

const STRING = { type: ['string', 'number'], pattern: '^[^\\u0000]*$' };
const DURATION = {
  description: 'a duration: 500ms, 10s, 5m, 1h, 1d, 1m30s, or a number of seconds',
  anyOf: [{ type: 'number', minimum: 0, maximum: INPUT_LIMITS.durationMs / 1000 }, { type: 'string', pattern: '^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?(ms|s|m|h|d))+)\\s*$' }],
};
const SIZE = {
  description: 'a size in bytes: 50Mi, 512Ki, 1Gi, 10MB, or a number of bytes',
  anyOf: [{ type: 'integer', minimum: 0, maximum: INPUT_LIMITS.sizeBytes }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*([bB]|[kKmMgG]([bB]|[iI][bB]?)?)?\\s*$' }],
};
/** limits.interval: at least 100ms (a string's bound is left to `tend validate`). */
const INTERVAL = { ...DURATION, anyOf: [{ type: 'number', minimum: 0.1, maximum: INPUT_LIMITS.durationMs / 1000 }, DURATION.anyOf[1]] };
const count = (minimum: number, maximum: number = INPUT_LIMITS.count) => ({ type: 'integer', minimum, maximum });
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
const object = <K extends string>(properties: Record<K, JsonSchema>, extra: JsonSchema = {}): JsonSchema => ({ type: 'object', properties, additionalProperties: false, ...extra });
const enumOf = (values: readonly string[]) => ({ type: 'string', enum: [...values] });
const ENV = { type: 'object', additionalProperties: { anyOf: [{ type: 'string', pattern: '^[^\\u0000]*$' }, { type: ['number', 'boolean'] }] } };
const COMMAND = { anyOf: [{ type: 'array', items: STRING, minItems: 1 }, { type: 'string', pattern: '\\S' }] };

/** TERM, sigterm, SIGTERM...: each signal this system has, in any case, with or without SIG. */
function signalPattern(): string {
  const names = Object.keys(constants.signals).map((s) => s.replace(/^SIG/, '')).map((n) => [...n].map((c) => (/[A-Z]/.test(c) ? `[${c}${c.toLowerCase()}]` : c)).join(''));
  return `^\\s*([Ss][Ii][Gg])?(${names.join('|')})\\s*$`;
}

const LIMIT_VALUE: Record<(typeof LIMIT_KINDS)[LimitKind], JsonSchema> = { size: SIZE, count: count(1) };

function programSchema(): JsonSchema {
  const restart: Record<(typeof RESTART_FIELDS)[number], JsonSchema> = {
    policy: nullable(enumOf(['always', 'on-failure', 'never'])),
    exitCodes: nullable({ type: 'array', items: count(0) }),
    startSeconds: nullable(DURATION),
    backoff: object({ initial: nullable(DURATION), max: nullable(DURATION), resetAfter: nullable(DURATION) } satisfies Record<(typeof BACKOFF_FIELDS)[number], JsonSchema>),
    maxRetries: nullable(count(0)),
    schedule: nullable({ ...STRING, description: 'a cron expression (5 or 6 fields)' }),
    timezone: nullable({ ...STRING, description: 'an IANA time zone, e.g. Europe/Paris' }),
    maxUptime: nullable(DURATION),
    jitter: nullable(DURATION),
  };
  const limits = Object.fromEntries(LIMIT_FIELDS.map((f) => [f, nullable(f === 'interval' ? INTERVAL : f === 'samples' ? count(1) : LIMIT_VALUE[LIMIT_KINDS[f as LimitKind]])])) as Record<(typeof LIMIT_FIELDS)[number], JsonSchema>;
  const health: Record<(typeof HEALTH_FIELDS)[number], JsonSchema> = {
    http: object({ url: { type: 'string', pattern: '^https?://' } }, { required: ['url'] }),
    tcp: object({ host: nullable(STRING), port: count(1) }, { required: ['port'] }),
    exec: object({ command: { anyOf: [{ type: 'array', items: STRING }, STRING] } }, { required: ['command'] }),
    interval: nullable(DURATION),
    timeout: nullable(DURATION),
    failures: nullable(count(1)),
    initialDelay: nullable(DURATION),
  };
  const stop: Record<(typeof STOP_FIELDS)[number], JsonSchema> = { signal: nullable({ type: 'string', pattern: signalPattern() }), timeout: nullable(DURATION) };
  const logs: Record<(typeof LOG_FIELDS)[number], JsonSchema> = { stdout: nullable(STRING), stderr: nullable(STRING), maxSize: nullable(SIZE), keep: nullable(count(0)) };
  const dependency = {
    anyOf: [{ type: 'null' }, enumOf(DEPENDENCY_CONDITIONS), object({ condition: enumOf(DEPENDENCY_CONDITIONS), restart: { type: 'boolean' } })],
  };
  const fields: Record<(typeof PROGRAM_FIELDS)[number], JsonSchema> = {
    command: { ...COMMAND, description: 'the program: a list (argv) or a string split like a shell would, without running one' },
    args: nullable({ type: 'array', items: STRING }),
    cwd: nullable(STRING),
    env: nullable({ ...ENV, propertyNames: { pattern: '^[^=]+$' } }),
    user: nullable(STRING),
    group: nullable({ anyOf: [{ type: 'string', pattern: PROGRAM_NAME.source }, { type: 'number', minimum: 0 }] }),
    selector: nullable({ type: 'object', description: 'run only on hosts whose labels (tend reconcile --label k=v; hostname always) match every key', additionalProperties: { anyOf: [STRING, { type: 'array', items: STRING, minItems: 1 }] } }),
    replicas: nullable(count(0, INPUT_LIMITS.replicas)),
    state: nullable(enumOf(['running', 'stopped'])),
    generation: nullable(count(0)),
    dependsOn: { anyOf: [{ type: 'array', items: STRING }, { type: 'object', additionalProperties: dependency }] },
    shutdownOn: nullable(enumOf(['fatal', 'exit'])),
    restart: object(restart),
    stop: object(stop),
    logs: object(logs),
    limits: object(limits),
    health: object(health, { oneOf: (['http', 'tcp', 'exec'] as const).map((k) => ({ required: [k] })) }),
  };
  return object(fields, { required: ['command'] });
}

function notifySchema(): JsonSchema {
  const kind = enumOf(NOTIFY_KINDS);
  const entry = object(
    {
      exec: COMMAND,
      webhook: object({ url: { type: 'string', pattern: '^https?://[^/\\s]' }, headers: nullable(ENV) }, { required: ['url'] }),
      on: nullable({ anyOf: [kind, { type: 'array', items: kind }] }),
      timeout: nullable(DURATION),
      retries: nullable(count(0, 10)),
    },
    { oneOf: [{ required: ['exec'] }, { required: ['webhook'] }] },
  );
  return nullable({ type: 'array', items: entry, description: 'Where to send alerts: one per failure episode, and one when it ends' });
}

export function stateJsonSchema(): JsonSchema {
  const top: Record<(typeof TOP_FIELDS)[number], JsonSchema> = {
    programs: { type: 'object', propertyNames: { pattern: PROGRAM_NAME.source }, maxProperties: INPUT_LIMITS.programs, additionalProperties: programSchema() },
    notify: notifySchema(),
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://tend.dev/schema/state.schema.json',
    title: 'tend state.yaml',
    description: 'The desired state of the programs tend runs. `tend validate` is the judge; see the README for every field.',
    ...object(top, { required: ['programs'] }),
  };
}
