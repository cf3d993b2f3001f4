declare module 'parse-prometheus-text-format' {
  /** Parses the Prometheus text exposition format into metric families. */
  function parsePrometheusTextFormat(text: string): unknown[];
  export default parsePrometheusTextFormat;
}
