/**
 * One error class for the gateway, with documented string codes (like fastify's FST_ERR_*).
 * Every code is listed here with what it means; `README.md` links to this file.
 */
export const ERROR_CODES = {
  EDGE_CONFIG_NOT_FOUND:
    'The configuration file does not exist or cannot be read (the message names the file and what to do).',
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
  EDGE_UPLINK_TOO_LARGE:
    "A message exceeds the broker's maximum packet size: an event is parked (alarm.uplink-oversize), a command reply is replaced by this error, telemetry is dropped.",
  EDGE_OUTBOX_QUOTA: 'The outbox disk quota forced undelivered records to be dropped (alarm).',
  EDGE_OUTBOX_FULL:
    'The disk was full even after the outbox made room: events could not be stored; they are counted as dropped and their seq ranges announced by outbox.dropped (alarm).',
  EDGE_OUTBOX_STUCK:
    'The outbox is not draining: events pending and none marked delivered while the uplink is connected (alarm).',
  EDGE_OUTBOX_CORRUPT:
    'The outbox database was unusable; it was moved aside and a new one started.',
  EDGE_COMMAND_INVALID: 'A platform command is not JSON or does not match its schema.',
  EDGE_COMMAND_UNKNOWN: 'A platform command names a command this gateway does not know.',
  EDGE_COMMAND_UNSUPPORTED: 'No handler for this command is registered on this gateway.',
  EDGE_COMMAND_EXPIRED: 'A platform command arrived after its expiresAt.',
  EDGE_COMMAND_RATE_LIMITED: 'A command (e.g. replay) was refused by its rate limit.',
  EDGE_COMMAND_FAILED: 'A command handler failed; the message says why.',
  EDGE_COMMAND_TIMEOUT: 'A command handler did not answer in time.',
  EDGE_COMMAND_INTERRUPTED:
    'The gateway restarted (or was killed) while running this command id; it is not run again: check the state and send a new id.',
  EDGE_COMMAND_REPLY_STORE:
    'The command reply SQLite file could not be opened or written; a state-changing command is then not run.',
  EDGE_COMMAND_UNSIGNED:
    'A command that changes customs behaviour or actuates (targeting list, config, officer decision, gate test, a large replay) carried no signature; it is refused (docs/security.md).',
  EDGE_COMMAND_SIGNATURE:
    'A signed command was refused: malformed JWS, unknown or expired key, wrong algorithm, issuer or signature that does not verify.',
  EDGE_COMMAND_WRONG_GATEWAY:
    "A signed command is addressed (JWS 'sub') to another gateway, or was published on another command's topic ('cmd').",
  EDGE_COMMAND_FORBIDDEN:
    "The command's signing key or signed role may not run this command (each command needs its role: targeting, config, officer, maintenance, replay).",
  EDGE_COMMAND_REPLAYED:
    "A signed command's nonce (JWS 'jti') was seen before: a captured command sent again is refused (re-send a command id with a new signature).",
  EDGE_COMMAND_TOO_LARGE:
    'A command exceeds the size or nesting limit (uplink.commands.maxSignedBytes / maxUnsignedBytes / maxDepth); it is refused before it is parsed.',
  EDGE_COMMAND_RETAINED:
    'A command arrived as a retained MQTT message (stored on the broker and delivered to every new subscriber); it is refused.',
  EDGE_COMMAND_EVIDENCE:
    "A remote officer's clear names no CT scan / report id, or one that does not match the parcel's verdict record; nothing was applied.",
  EDGE_CONFIG_REMOTE_REFUSED:
    'A configuration sent by the platform changes what only an on-site change may (users, bind addresses, safety I/O, lane geometry, uplink endpoint, command keys) or carries ${env:} / ${file:} references.',
  EDGE_HTTP_TLS: 'The HTTPS certificate, key or CA file (http.tls) could not be read or used.',
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
  EDGE_TARGETING_UNAVAILABLE:
    'The targeting list store is not open (the line engine is not running).',
  EDGE_TARGETING_INVALID:
    'A targeting list was rejected (malformed entry or reused version); `details` lists every problem. The active list is unchanged.',
  EDGE_TARGETING_BUSY:
    'A targeting list is being loaded (a large list loads in slices); the new one is refused until it is active.',
  EDGE_TARGETING_STORE: 'The targeting-list SQLite file could not be opened or written.',
  EDGE_TRACKING_SNAPSHOT: 'The line-tracking snapshot file could not be opened or written.',
  EDGE_STORE_TOO_NEW:
    'An SQLite file holds a newer schema than this gateway reads (written by a newer version): it is refused, never misread or moved aside. Run the newer version, or restore a backup made with this one (docs/install.md).',
  EDGE_SERIAL_CONFIG:
    'A serial driver setting is inconsistent (framing, pattern without its named group...).',
  EDGE_SERIAL_NOT_CONNECTED: 'The serial port is not open (device unplugged or not found yet).',
  EDGE_SERIAL_OPEN_FAILED: 'A serial port could not be opened; the driver retries with backoff.',
  EDGE_SERIAL_DISCONNECTED:
    'A serial device went away (unplug, EIO); the driver reopens it when its path is back.',
  EDGE_SERIAL_DEVICE_SILENT:
    'A serial device stopped answering polls or sending its heartbeat / continuous output.',
  EDGE_SERIAL_COMMAND_REJECTED:
    'A technician test command is not allowed for this device, or the device is not polled.',
  EDGE_SERIAL_COMMAND_TIMEOUT:
    'A polled serial device did not answer a command within its timeout and retries.',
  EDGE_SERIAL_UNKNOWN_DRIVER: 'A technician request named a serial driver that is not configured.',
  EDGE_SERIAL_PTY: 'socat could not create the pty pair a serial simulator writes to.',
  EDGE_OPCUA_CONNECT: 'An OPC UA server could not be reached or refused the session; retrying.',
  EDGE_OPCUA_CLIENT_CERT_REFUSED:
    "An OPC UA server refused the secure channel (BadSecurityChecksFailed): it does not trust the gateway's application certificate; the message gives its thumbprint and where to download it.",
  EDGE_OPCUA_CERT_UNTRUSTED:
    'An OPC UA server certificate is not trusted: it is listed as rejected until a technician trusts it.',
  EDGE_OPCUA_CERT_PIN_MISMATCH:
    "An OPC UA server's certificate thumbprint differs from the one pinned in the configuration.",
  EDGE_OPCUA_SIGNAL:
    'A configured OPC UA signal could not be monitored (bad nodeId or browse path); the others run.',
  EDGE_OPCUA_NOT_CONNECTED: 'An OPC UA read, write, call or browse was asked while not connected.',
  EDGE_OPCUA_WRITE: 'An OPC UA write or method call was rejected by the server.',
  EDGE_OPCUA_UNKNOWN_NAME: 'An OPC UA server, output or certificate name is not known.',
  EDGE_OPCUA_QUEUE_OVERFLOW:
    "An OPC UA server's monitored-item queue overflowed: values were lost.",
  EDGE_PLC_NO_KEY:
    'A parcel has no value for the key the sorter PLC knows parcels by (no valid waybill, no PLC tracking id): the hand-off cannot be sent (alarm).',
  EDGE_PLC_DESTINATION:
    "A lane's destination code does not fit the PLC's data type (Int16 / Int32 / UInt32 / String range).",
  EDGE_PLC_ACK:
    'The sorter PLC did not acknowledge a hand-off (method status or output, read-back or handshake variable) in time, or refused it.',
  EDGE_OPCUA_IDENTITY: 'The OPC UA user identity (certificate or key file) could not be read.',
  EDGE_INSPECTOR_STORE:
    'The inspector SQLite file (queue, decisions) could not be opened or written.',
  EDGE_INSPECTOR_INVALID:
    'An inspector request is malformed (body, parcel id or query); nothing changed.',
  EDGE_INSPECTOR_UNKNOWN_PARCEL:
    'An inspector request named a parcel the gateway does not know (never seen, or its record has expired); nothing changed.',
  EDGE_INSPECTOR_CLAIMED:
    'Another officer has this parcel open; take it over explicitly (takeOver: true) to work on it.',
  EDGE_INSPECTOR_DECIDED:
    'The parcel already has an officer decision; send revise: true to record a new one.',
  EDGE_INSPECTOR_NOT_RECORDED:
    'An officer decision could not be stored in the outbox; it was not recorded (a stricter verdict was still applied to the line).',
  EDGE_INSPECTOR_UNAVAILABLE: 'The inspector workstation is not running (disabled or not started).',
  EDGE_SYSTEMD_NOTIFY:
    "systemd's NOTIFY_SOCKET cannot be used (not a path socket): the unit must run as Type=simple.",
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
