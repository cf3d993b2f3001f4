/** The front-door benchmark's tiny workflow: it does nothing, so a run costs the engine a start and one workflow task. */
export async function benchNoop(): Promise<void> {}
