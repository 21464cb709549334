// `cdk8s import k8s` downloads the Kubernetes schema from GitHub, which these machines cannot reach;
// cdk8s-plus-27 ships the same generated low-level constructs for Kubernetes 1.27, so we re-export them.
export { k8s } from 'cdk8s-plus-27';
