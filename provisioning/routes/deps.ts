import type { Config } from '../../core/config';
import type { Accounts } from '../accounts';
import type { Metrics } from '../../core/metrics';
import type { Readiness } from '../../core/readiness';
import type { PinDirectory } from '../directory';
import type { LiveCalls } from '../live-calls';
import type { Store } from '../store/store';
import type { TrunkStates } from '../trunk-states';
import type { DialOuts } from '../dial-outs';

/** Everything the HTTP routes use, handed in by whoever assembles the process. */
export interface ApiDependencies {
  config: Config;
  directory: PinDirectory;
  liveCalls: LiveCalls;
  trunks: TrunkStates;
  dialOuts: DialOuts;
  readiness: Readiness;
  metrics: Metrics;
  store: Store;
  accounts: Accounts;
}
