/**
 * One pino logger for the process. Personal data never reaches the logs: the
 * redaction list covers credentials and the personal-data field names the city
 * model uses (SNILS, passport and birth-certificate numbers, birth dates,
 * addresses), wherever they appear up to two levels deep in a log object.
 */
import { pino, type Logger } from 'pino';

const PERSONAL = ['snils', 'passport', 'passportNumber', 'birthCertificate', 'birthDate', 'dateOfBirth', 'address', 'phone', 'email', 'inn'];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'password',
  'token',
  ...PERSONAL.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

export function createLogger(options: { level: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { app: 'okno' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

export type { Logger };
