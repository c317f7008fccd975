// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const swcTransform = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  // Editor tests type into Grafana's comboboxes key by key; on a loaded
  // 2-core machine one test can take several seconds.
  testTimeout: 30000,
  transform: {
    ...base.transform,
    // d3-color (via @grafana/data) ships only .mjs files, which the
    // scaffold's transform pattern does not match.
    '^.+\\.mjs$': swcTransform,
  },
};
