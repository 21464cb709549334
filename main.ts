import { relative } from 'node:path';
import { App } from 'cdk8s';
import { EchoChart } from './charts/echo';
import { NamespacesChart } from './charts/namespaces';
import { NatsAccessChart } from './charts/nats-access';
import { NatsTlsChart } from './charts/nats-tls';
import { loadConfig } from './lib/config';
import { displayPath } from './lib/display-path';
import { DistStaging } from './lib/dist';
import { distDir, NATS_VALUES_FILE } from './lib/layout';
import { natsValuesDocument } from './lib/nats-values';
import { ensurePki } from './lib/pki';
import { runMain } from './lib/run-main';

runMain(async () => {
  const config = loadConfig();
  const tls = await ensurePki(config, { log: (line) => console.log(line) });

  const staging = new DistStaging(distDir(process.cwd()));
  try {
    const app = new App({ outdir: staging.path });
    const namespaces = new NamespacesChart(app, 'namespaces', { names: [config.nats.namespace, config.echo.namespace] });
    new NatsTlsChart(app, 'nats-tls', { nats: config.nats, tls }).addDependency(namespaces);
    new NatsAccessChart(app, 'nats-access', { nats: config.nats, cluster: config.cluster }).addDependency(namespaces);
    new EchoChart(app, 'echo', { echo: config.echo }).addDependency(namespaces);
    app.synth();

    const written = staging.publish({ [NATS_VALUES_FILE]: natsValuesDocument(config) });
    console.log(`✔ synthesized into ${displayPath(staging.outdir)}/: ${written.map((file) => relative(staging.outdir, file)).join(', ')}`);
  } finally {
    staging.discard();
  }
});
