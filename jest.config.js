// ts-jest in ESM mode: @actions/core 3 ships only ESM.
const shared = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] }
}

export default {
  // Per-project testTimeout is ignored by jest 29; e2e deploys need minutes, unit tests never wait.
  testTimeout: 180000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
      testPathIgnorePatterns: ['/__tests__/e2e/', '/__tests__/e2e-nodes/']
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/__tests__/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/__tests__/e2e/global-setup.ts',
      slowTestThreshold: 60
    },
    {
      // Several "remote" servers in network namespaces and a Swarm of them (sandbox/nodes.sh).
      // `npm test` runs them after the e2e project; alone: `npm run test:nodes`.
      ...shared,
      displayName: 'nodes',
      testMatch: ['<rootDir>/__tests__/e2e-nodes/**/*.test.ts'],
      globalSetup: '<rootDir>/__tests__/e2e-nodes/global-setup.ts',
      slowTestThreshold: 60
    }
  ]
}
