/**
 * What is a URL input: the one test. Request resolution decides it on the raw text, the encode
 * steps (probe, trim, verify) and the command builders again on the resolved input, to pick a
 * protocol whitelist and a source element. Pure, safe in the workflow sandbox.
 */

/** Whether an input names an http(s) URL rather than a file (the scheme is case-insensitive). */
export function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}
