// Every environment setting is checked in one place (src/cli/settings.ts) before a command runs.
import { describe, expect, it } from 'vitest';
import { checkSettings, SETTINGS } from '../../src/cli/settings.ts';
import { runCli } from '../helpers/cli.ts';

describe('environment settings', () => {
  it('accepts an environment with none of them, or with good values', () => {
    expect(() => checkSettings({})).not.toThrow();
    expect(() =>
      checkSettings({
        DATABASE_URL: 'postgres://u:p@db:5432/w',
        AQUASYNC_HOME: '/srv/aquasync',
        AQUASYNC_PG_PORT: '54330',
        AQUASYNC_JOB_BUDGET: '4',
        AQUASYNC_SCHEDULER_LEASE_SECONDS: '30',
      }),
    ).not.toThrow();
  });

  it.each([
    ['DATABASE_URL', 'mysql://u@db/w', /postgres:\/\/ or postgresql:\/\//],
    ['DATABASE_URL', 'postgres://u:p%zz@db/w', /percent-encoding/],
    ['AQUASYNC_HOME', '  ', /AQUASYNC_HOME is set but empty/],
    ['AQUASYNC_PG_PORT', '70000', /AQUASYNC_PG_PORT must be a port number/],
    ['AQUASYNC_JOB_BUDGET', 'lots', /AQUASYNC_JOB_BUDGET must be a whole number/],
    ['AQUASYNC_SCHEDULER_LEASE_SECONDS', '0', /AQUASYNC_SCHEDULER_LEASE_SECONDS must be a number of seconds/],
  ])('%s=%j is a configuration error naming it', (name, value, message) => {
    expect(() => checkSettings({ [name]: value })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });

  it('lists each variable once, and `aquasync --help` shows every one', async () => {
    const names = SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const help = await runCli(['--help'], process.env);
    expect(help.code).toBe(0);
    for (const s of SETTINGS) expect(help.stdout).toContain(`  ${s.name}: ${s.meaning}`);
  });
});
