import { relative } from 'node:path';
import { App, Yaml } from 'cdk8s';
import { EchoChart } from './charts/echo';
import { NamespacesChart } from './charts/namespaces';
import { NatsAccessChart } from './charts/nats-access';
import { NatsTlsChart } from './charts/nats-tls';
import { loadConfig } from './lib/config';
import { DistStaging } from './lib/dist';
import { NATS_VALUES_FILE } from './lib/layout';
import { natsHelmValues } from './lib/nats-values';
import { ensurePki } from './lib/pki';
import { runMain } from './lib/run-main';

runMain(async () => {
  const config = loadConfig();
  const tls = await ensurePki(config, { log: (line) => console.log(line) });

  const staging = new DistStaging(process.env.CDK8S_OUTDIR ?? 'dist');
  try {
    const app = new App({ outdir: staging.path });
    const namespaces = new NamespacesChart(app, 'namespaces', { names: [config.nats.namespace] });
    new NatsTlsChart(app, 'nats-tls', { nats: config.nats, tls }).addDependency(namespaces);
    new NatsAccessChart(app, 'nats-access', { nats: config.nats, cluster: config.cluster }).addDependency(namespaces);
    new EchoChart(app, 'echo', { echo: config.echo });
    app.synth();

    const written = staging.publish({
      [NATS_VALUES_FILE]: `# NATS Helm chart ${config.nats.chart.name} ${config.nats.chart.version} values, synthesized from lib/config.ts: do not edit.\n${Yaml.stringify(natsHelmValues(config))}`,
    });
    console.log(`✔ synthesized into ${staging.outdir}/: ${written.map((file) => relative(staging.outdir, file)).join(', ')}`);
  } finally {
    staging.discard();
  }
});
