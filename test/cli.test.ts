import { countFlag, failure, helpText, parseFlags, scriptArgs, type CommandSpec } from '../lib/util/cli';
import { ReportedError, UsageError } from '../lib/util/errors';
import { UserError } from '../lib/util/errors';

const SPEC: CommandSpec = {
  usage: 'npm run thing --',
  description: 'Does a thing.',
  flags: {
    'dry-run': { type: 'boolean', help: 'print instead of doing' },
    context: { type: 'string', value: 'NAME', help: 'the kubectl context' },
    renew: { type: 'string', value: 'NAME', multiple: true, help: 'renew this one' },
  },
};

describe('one flag layer for every command', () => {
  test('parses declared flags, repeated ones as a list', () => {
    expect(parseFlags(SPEC, ['--dry-run', '--context', 'k3d-dev', '--renew', 'a', '--renew=b'])).toEqual({
      'dry-run': true, context: 'k3d-dev', renew: ['a', 'b'],
    });
  });

  test.each([
    [['--dry-rn'], 'unknown flag --dry-rn'],
    [['--context'], '--context needs a value'],
    [['--context='], '--context needs a value'],
    [['--dry-run=yes'], '--dry-run takes no value'],
    [['deploy'], 'unexpected argument(s): deploy'],
  ])('%j is a usage error: %s', (args, message) => {
    expect(() => parseFlags(SPEC, args)).toThrow(UsageError);
    expect(() => parseFlags(SPEC, args)).toThrow(message);
  });

  test('one --help format: usage, description, every flag with its value name, and --help', () => {
    expect(helpText(SPEC)).toBe([
      'Usage: npm run thing -- [flags]', '', 'Does a thing.', '', 'Flags:',
      '  --dry-run        print instead of doing',
      '  --context NAME   the kubectl context',
      '  --renew NAME     renew this one',
      '  --help           show this help',
    ].join('\n'));
  });

  test('counts are whole numbers above 0', () => {
    expect(countFlag({ runs: '3' }, 'runs', 7)).toBe(3);
    expect(countFlag({}, 'runs', 7)).toBe(7);
    for (const bad of ['0', 'many', '1.5', '-2']) expect(() => countFlag({ runs: bad }, 'runs', 7)).toThrow('--runs needs a whole number above 0');
  });

  test('the script\'s own arguments, whether run by node or by zx', () => {
    expect(scriptArgs('/p/scripts/up.mjs', ['/usr/bin/node', '/p/scripts/up.mjs', '--dry-run'])).toEqual(['--dry-run']);
    expect(scriptArgs('/p/scripts/up.mjs', ['/usr/bin/node', '/p/node_modules/zx/build/cli.js', '/p/scripts/up.mjs', '--dry-run'])).toEqual(['--dry-run']);
  });
});

describe('one exit path', () => {
  test('a usage mistake exits 2 with the help', () => {
    const { code, text } = failure(SPEC, new UsageError('unknown flag --x'));
    expect(code).toBe(2);
    expect(text).toMatch(/^✖ unknown flag --x\n\nUsage: npm run thing -- \[flags\]/);
  });

  test('a failure the user was already shown exits 1 quietly', () => {
    expect(failure(SPEC, new ReportedError())).toEqual({ code: 1 });
  });

  test('an error the user can fix is one line without a stack trace', () => {
    expect(failure(SPEC, new UserError('pki.dir is wrong'))).toEqual({ code: 1, text: '✖ pki.dir is wrong' });
  });

  test.each([
    ['EPERM', 'chmod', 'operation not permitted: it belongs to another user'],
    ['ENOENT', 'open', 'it does not exist (a dangling symbolic link'],
    ['EEXIST', 'mkdir', 'a file is in the way where a folder is needed'],
    ['EACCES', 'open', 'permission denied'],
  ])('a filesystem error (%s) names the operation, the path and the fix', (code, syscall, fix) => {
    const error = Object.assign(new Error(`${code}: ${syscall} '/p/keys'`), { code, syscall, path: '/p/keys' });
    const result = failure(SPEC, error);
    expect(result.code).toBe(1);
    expect(result.text).toContain(`✖ cannot ${syscall} /p/keys: ${fix}`);
    expect(result.text).not.toMatch(/\n\s+at /);
  });

  test('a bug keeps its stack trace', () => {
    const result = failure(SPEC, new TypeError('x is undefined'));
    expect(result.code).toBe(1);
    expect(result.text).toMatch(/^✖ TypeError: x is undefined\n\s+at /);
  });
});
