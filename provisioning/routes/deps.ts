import type { Config } from '../../service/config';
import type { Metrics } from '../../service/metrics';
import type { Readiness } from '../../service/readiness';
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
