/**
 * One error class for the gateway, with documented string codes (like fastify's FST_ERR_*).
 * Every code is listed here with what it means; `README.md` links to this file.
 */
export const ERROR_CODES = {
  EDGE_CONFIG_PARSE: 'The configuration file is not valid YAML.',
  EDGE_CONFIG_INVALID: 'The configuration does not match the schema; `details` lists every error.',
  EDGE_CONFIG_MIGRATION: 'The configuration version is unknown or a migration step failed.',
  EDGE_CONFIG_ENV_MISSING: 'A ${env:NAME} reference names an unset environment variable.',
  EDGE_CONFIG_SECRET_FILE: 'A ${file:PATH} secret reference could not be read.',
  EDGE_DRIVER_START_FAILED: 'A device driver failed to start; it is reported in health.',
  EDGE_DRIVER_UNKNOWN_KIND: 'A configured driver kind is not known to this build.',
  EDGE_OUTBOX_CLOSED: 'An event was appended after the outbox was closed.',
  EDGE_OUTBOX_WRITE: 'The outbox could not commit a batch to SQLite.',
  EDGE_UPLINK_TIMEOUT: 'A publish did not receive its PUBACK in time.',
  EDGE_UPLINK_CONFIG: 'The uplink settings cannot be used (TLS file unreadable, url scheme).',
  EDGE_UPLINK_OFFLINE: 'A reply could not be published: the uplink is not connected.',
  EDGE_OUTBOX_QUOTA: 'The outbox disk quota forced undelivered records to be dropped (alarm).',
  EDGE_OUTBOX_CORRUPT:
    'The outbox database was unusable; it was moved aside and a new one started.',
  EDGE_COMMAND_INVALID: 'A platform command is not JSON or does not match its schema.',
  EDGE_COMMAND_UNKNOWN: 'A platform command names a command this gateway does not know.',
  EDGE_COMMAND_UNSUPPORTED: 'No handler for this command is registered on this gateway.',
  EDGE_COMMAND_EXPIRED: 'A platform command arrived after its expiresAt.',
  EDGE_COMMAND_RATE_LIMITED: 'A command (e.g. replay) was refused by its rate limit.',
  EDGE_COMMAND_FAILED: 'A command handler failed; the message says why.',
  EDGE_COMMAND_TIMEOUT: 'A command handler did not answer in time.',
  EDGE_BROKER_LISTEN: 'The embedded MQTT broker could not listen on its port.',
  EDGE_GATE_CONTROLLER_DOWN: 'The gate-controller process is not running or not answering.',
  EDGE_GATE_UNKNOWN_OUTPUT: 'A gate command named an output that is not configured.',
  EDGE_GPIO_SYSFS_MISSING:
    'sysfs GPIO (/sys/class/gpio) is missing: not a Raspberry Pi, or a kernel without CONFIG_GPIO_SYSFS.',
  EDGE_GPIO_CHIP_NOT_FOUND:
    'No GPIO chip with a pinctrl-bcm2835 / pinctrl-bcm2711 / pinctrl-rp1 label (or the configured chipLabel).',
  EDGE_GPIO_PIN_INVALID:
    'A BCM pin is outside the chip, or sysfs rejected its number (EINVAL: wrong chip base?).',
  EDGE_GPIO_PIN_BUSY:
    'A pin is already in use: claimed by a kernel driver / overlay (EBUSY) or configured twice.',
  EDGE_GPIO_PERMISSION:
    'No permission on the sysfs GPIO files: run as root or as a user in the gpio group.',
  EDGE_GPIO_EXPORT_FAILED: 'A pin was exported but its gpioN directory did not appear.',
  EDGE_GPIO_IO: 'A GPIO read or write failed.',
  EDGE_GPIO_CONFIG: 'The gates configuration is inconsistent (duplicate pin, unknown input...).',
  EDGE_GPIO_JOG_REFUSED:
    'A technician jog was refused: the line runs (no maintenance mode), E-stop, or no controller.',
  EDGE_HTTP_AUTH_REQUIRED: 'The HTTP request carried no valid credentials.',
  EDGE_HTTP_FORBIDDEN: "The authenticated user's role does not allow this route.",
  EDGE_TARGETING_INVALID:
    'A targeting list was rejected (malformed entry or reused version); `details` lists every problem. The active list is unchanged.',
  EDGE_TARGETING_STORE: 'The targeting-list SQLite file could not be opened or written.',
  EDGE_TRACKING_SNAPSHOT: 'The line-tracking snapshot file could not be opened or written.',
} as const;

export type EdgeErrorCode = keyof typeof ERROR_CODES;

export class EdgeError extends Error {
  readonly code: EdgeErrorCode;
  readonly details: unknown;

  constructor(
    code: EdgeErrorCode,
    message: string,
    options?: { cause?: unknown; details?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EdgeError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isEdgeError(err: unknown, code?: EdgeErrorCode): err is EdgeError {
  return err instanceof EdgeError && (code === undefined || err.code === code);
}
