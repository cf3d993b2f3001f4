import { SAFE_CHAR } from './text-rules';

/**
 * What is a URL input: the one test. Request resolution decides it on the raw text, the encode
 * steps (probe, trim, verify) and the command builders again on the resolved input, to pick a
 * protocol whitelist and a source element. Also the one grammar of the URLs the API takes (inputs,
 * RTMP outputs, node addresses). Pure, safe in the workflow sandbox.
 */

/** Whether an input names an http(s) URL rather than a file (the scheme is case-insensitive). */
export function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const LABEL = '[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*';
/** the last label starts with a letter, so a name is never read as an IPv4 number */
const LAST_LABEL = '[A-Za-z](?:[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)?';
const HOST = `(?:(?:${LABEL}\\.)*${LAST_LABEL}\\.?|(?:${OCTET}\\.){3}${OCTET})`;
const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|\\d{1,4})';

/**
 * The URLs the API takes, as a pattern body (no anchors; JSON Schema / ECMA-262 syntax): one of
 * the schemes (any case), `://`, an ASCII host name or dotted IPv4 address, an optional port
 * 0..65535, and then a path, query or fragment of any characters the text rule allows. No
 * credentials, no IPv6 literal, no internationalised host name (write it in punycode). Every URL
 * it admits parses as a WHATWG URL with that host.
 */
export function urlPatternBody(schemes: readonly string[]): string {
  const scheme = schemes.map((s) => s.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`)).join('|');
  return `(?:${scheme})://${HOST}(?::${PORT})?(?:[/?#]${SAFE_CHAR}*)?`;
}

/** An http(s) URL as the API takes it (inputs, node addresses). */
export const HTTP_URL_PATTERN = `^${urlPatternBody(['https', 'http'])}$`;
/** An RTMP output URL as the API takes it. */
export const RTMP_URL_PATTERN = `^${urlPatternBody(['rtmps', 'rtmp'])}$`;
