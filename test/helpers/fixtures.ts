import { readFileSync } from 'node:fs';
import path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');
export const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');
