/** The form of a job id: a UUID as ffrtmp writes it, lower-case hex (the API lower-cases what it is given). */
const JOB_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isJobUuid(value: string): boolean {
  return JOB_UUID.test(value);
}
