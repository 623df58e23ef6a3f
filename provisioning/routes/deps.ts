import type { Config } from '../../core/config';
import type { Metrics } from '../../core/metrics';
import type { Readiness } from '../../core/readiness';
import type { PinDirectory } from '../directory';
import type { LiveCalls } from '../live-calls';
import type { Store } from '../store/store';

/** Everything the HTTP routes use, handed in by whoever assembles the process. */
export interface ApiDependencies {
  config: Config;
  directory: PinDirectory;
  liveCalls: LiveCalls;
  readiness: Readiness;
  metrics: Metrics;
  store: Store;
}
