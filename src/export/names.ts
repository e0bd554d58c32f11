/** What every export needs to say about a program's settings. */
export const NOTE = {
  closeWait: 'limits.closeWait: no equivalent (no other supervisor restarts a program for leaked CLOSE_WAIT connections)',
  health: 'health: no equivalent here; tend restarts the program after failed probes',
  startSeconds: 'restart.startSeconds: no equivalent; a process counts as started at once',
  shutdownOn: 'shutdownOn: no equivalent; tend stops everything and exits when this program fails',
  backoff: 'restart.backoff: tend doubles the delay from initial to max, and resets it after resetAfter; here the delay is fixed at initial',
} as const;

/** A DNS-1123 name (Kubernetes objects, Nomad groups): lower case, digits and '-'. */
export function dnsName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'program';
}
