// Projects: `unit` (pure modules, no I/O), `integration` (real Redis, real HTTP to the simulator), `ha` (the
// same, on Sentinel and Cluster groups and many processes), `browser` (the admin console in headless chromium)
// and `simulator`.
// A few of Fastify's test-time dependencies (cookie 2, set-cookie-parser 3) ship as ES modules only.
// Node 24 itself can require() them, but Jest's own module loader (Jest 30 on Node 24.22, tried) still
// refuses them without --experimental-vm-modules, so those files are transpiled to CommonJS like our own.
const esmOnly = ['cookie', 'set-cookie-parser']
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  [`node_modules/(${esmOnly.join('|')})/.+\\.js$`]: ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }]
}
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: [`node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'json']
}

// Two tiers. `npm test` is the fast tier a contributor runs (unit, integration on the one Redis of REDIS_URL,
// browser, simulator); `npm run test:ha` runs the files that start Sentinel and Cluster groups of their own
// (test/helpers/redis-ha.ts), kill primaries, or run the spoke as OS processes of its own (many-process deployments, the upload test that
// measures the api process's memory). test/unit/test-tiers.test.ts
// keeps this list whole. The scripts pick a tier with SPOKE_TEST_TIER=fast|ha (not --selectProjects, whose
// list would swallow a file given after it: `npm test -- <file>` must run that file); `npx jest <file>` runs a
// file of either tier.
const haTier = ['redis-ha', 'redis-failover', 'redis-cluster-failover', 'redis-replication', 'redis-replication-cluster', 'many-processes', 'attachments']
const haFiles = haTier.map(name => `<rootDir>/test/integration/${name}.test.ts`)
const integration = {
  ...common,
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/integration-setup.ts']
}

const tier = process.env.SPOKE_TEST_TIER
if (tier !== undefined && tier !== 'fast' && tier !== 'ha') throw new Error(`SPOKE_TEST_TIER must be fast or ha, not "${tier}"`)
const inTier = (project) => tier === undefined || (tier === 'ha') === (project.displayName === 'ha')

module.exports = {
  // Always run test files in worker processes (with 2 cores Jest would otherwise run in band), so one
  // file's leftovers can never keep the run alive or leak into another file.
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...integration,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      testPathIgnorePatterns: haTier.map(name => `/test/integration/${name}\\.test\\.ts$`)
    },
    // The high-availability tier (npm run test:ha).
    { ...integration, displayName: 'ha', testMatch: haFiles },
    // The admin console in a real browser (Debian's chromium, headless; skipped with a message where none is installed).
    {
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration-setup.ts']
    },
    // The simulator's own suite (its package lives in simulator/, an npm workspace).
    { ...common, displayName: 'simulator', testMatch: ['<rootDir>/simulator/test/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/integration-setup.ts'] }
  ].filter(inTier)
}
