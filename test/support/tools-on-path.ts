import { delimiter } from 'node:path';
import { BIN_DIR } from '../tools/build';

// Every test that runs `kubectl` or `helm` by name runs the ones test/tools builds (kubectl 1.36, the
// control plane's version; helm 3.22), not whichever the machine has.
process.env.PATH = `${BIN_DIR}${delimiter}${process.env.PATH ?? ''}`;
