/** `ffrtmp scenarios list`: the scenario presets, the scenario grammar, and the encoders. */
import type { Command } from 'commander';
import { addGlobalOptions, examples, withSession, type Runtime } from '../session';

export function registerScenarios(program: Command, rt: Runtime): Command {
  const scenarios = program.command('scenarios').description('what a job can ask for');
  const list = scenarios
    .command('list')
    .description('scenario presets, the grammar every scenario name follows, and the encoders with their presets')
    .addHelpText('after', examples([['ffrtmp scenarios list', 'presets and encoders'], ['ffrtmp -o json scenarios list', 'as the API returns them']]))
    .action((_opts: unknown, cmd: Command) =>
      withSession(cmd, rt, async ({ api, out }) => {
        const c = await api.scenarios();
        if (out.json) return out.printJson(c);
        out.table(['SCENARIO', 'RESOLUTION', 'FPS', 'CODEC', 'BITRATE'], c.presets.map((p) => [p.name, `${p.width}x${p.height}`, String(p.fps), p.codec, `${p.bitrate_kbps}k`]));
        out.line();
        out.line(`Any scenario name: ${c.grammar}`);
        out.line();
        out.table(['ENCODER', 'ENGINE', 'CODEC', 'NEEDS', 'DEFAULT', 'PRESETS'], c.encoders.map((e) => [e.name, e.engine, e.codec, e.capability, e.default_preset, e.presets.join(' ')]));
      }),
    );
  addGlobalOptions(list, true);
  return scenarios;
}
