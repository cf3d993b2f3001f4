/**
 * The one rule for text a request carries (paths, URLs, names): any Unicode is welcome except
 * what could make the value mean or look like something else. No ASCII allowlist: encoders get
 * argument arrays, never a shell, and file inputs are confined to the media root, so a name like
 * `my clip ü 日本 & (1).mp4` is harmless. What is refused, and why:
 * - C0 and C1 control characters and DEL: NUL ends C strings, newlines forge log lines, escape
 *   sequences drive terminals;
 * - U+2028/U+2029 (line and paragraph separators): line breaks to some readers;
 * - bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): a terminal
 *   or log viewer shows the text in another order than it is ("Trojan Source");
 * - lone UTF-16 surrogates: not Unicode, so no file name can be spelt with them;
 * - a leading "-": an encoder could read the value as an option.
 * Pure; imported by the schemas, request resolution and the GStreamer pipeline builder.
 */

// the refused characters, as regular-expression class ranges: the checks below and the pattern
// the API's schema publishes are both built from these
const CONTROL_RANGES = '\\u0000-\\u001f\\u007f-\\u009f';
const SEPARATOR_RANGES = '\\u2028\\u2029';
const BIDI_RANGES = '\\u202a-\\u202e\\u2066-\\u2069';
const CONTROL = new RegExp(`[${CONTROL_RANGES}]`, 'u');
const SEPARATOR = new RegExp(`[${SEPARATOR_RANGES}]`, 'u');
const BIDI = new RegExp(`[${BIDI_RANGES}]`, 'u');
const LONE_SURROGATE = /\p{Cs}/u;

/** The refused characters as class ranges, for patterns that embed the text rule (ECMA-262, `u`). */
export const UNSAFE_CHAR_RANGES = `${CONTROL_RANGES}${SEPARATOR_RANGES}${BIDI_RANGES}`;
/** One character the text rule allows. */
export const SAFE_CHAR = `[^${UNSAFE_CHAR_RANGES}]`;
/**
 * The text rule as a JSON Schema pattern: what textProblem accepts, for the OpenAPI document.
 * (Lone surrogates are left out: no JSON text generator makes them, and a pattern that names
 * them does not compile in every regular-expression engine; textProblem still refuses them.)
 */
export const SAFE_TEXT_PATTERN = `^(?:[^\\-${UNSAFE_CHAR_RANGES}]${SAFE_CHAR}*)?$`;

/** U+XXXX of the first character of `value` that `re` matches. */
function codePointOf(value: string, re: RegExp): string {
  const ch = re.exec(value)![0];
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why `value` is refused (a phrase that follows the field name), or undefined when it is fine. */
export function textProblem(value: string): string | undefined {
  if (CONTROL.test(value)) return `must not contain control characters (${codePointOf(value, CONTROL)})`;
  if (SEPARATOR.test(value)) return `must not contain line or paragraph separators (${codePointOf(value, SEPARATOR)})`;
  if (BIDI.test(value)) return `must not contain bidirectional override or isolate characters (${codePointOf(value, BIDI)}): they make terminals show the text in another order`;
  if (LONE_SURROGATE.test(value)) return `is not valid Unicode (a lone surrogate ${codePointOf(value, LONE_SURROGATE)})`;
  if (value.startsWith('-')) return 'must not start with "-" (it could pass for an option)';
  return undefined;
}

/**
 * Why gst-launch-1.0 cannot be given `value` as a quoted property, or undefined when it can.
 * gst-launch joins its arguments into one pipeline description and lexes it again; its lexer
 * reads the `\\"` that would close a value ending in a backslash as an escaped quote, and runs
 * on into the rest of the pipeline; and a string property deserialises `NULL` as no value and
 * unwraps a value that is itself in double quotes (all found by experiment with GStreamer 1.22).
 * Every other character round-trips inside `"…"` with `"` and `\` escaped (see
 * test/integration/unicode-inputs). Absolute paths and URLs never hit the last two.
 */
export function gstUnquotable(value: string): string | undefined {
  if (value.includes('\0')) return 'contains NUL';
  if (value.endsWith('\\')) return 'ends with a backslash, which a GStreamer pipeline description cannot express';
  if (value === 'NULL') return 'is NULL, which GStreamer reads as no value';
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return 'is wrapped in double quotes, which GStreamer strips';
  return undefined;
}

/**
 * What no value given to GStreamer may end with: a backslash, also before trailing `/` or `/.`
 * (a file path is normalised before gst-launch sees it, so `dir\/.` ends in a backslash too).
 * Request resolution refuses it for GStreamer jobs, and the schema publishes it.
 */
export const GST_UNSAFE_END_PATTERN = '\\\\(?:/\\.?)*$';
