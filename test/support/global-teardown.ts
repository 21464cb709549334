import { removeFixtureDir } from './fixture-pki';

export default removeFixtureDir;
