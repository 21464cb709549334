import NodeEnvironment from 'jest-environment-node';
import { stopTracked } from './child-processes';

/**
 * jest's node environment, plus one step when a test file is done — after its last afterAll, pass
 * or fail: stop every nats-server and `nats` CLI process its helpers started and nobody stopped.
 */
export default class StoppingNodeEnvironment extends NodeEnvironment {
  override async teardown(): Promise<void> {
    await stopTracked(this.global);
    await super.teardown();
  }
}
