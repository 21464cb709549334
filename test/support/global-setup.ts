import { createFixtureDir } from './fixture-pki';

export default createFixtureDir;
