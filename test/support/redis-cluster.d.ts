export interface PrivateCluster {
  /** Seed node URLs, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  ports: number[];
  /** The nodes' process ids (new ones after a restart). */
  readonly pids: Array<number | undefined>;
  kill(port: number): Promise<void>;
  /** Kills every node and starts each again on its port, same topology, no data; resolves once the cluster is healthy. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startPrivateCluster(): Promise<PrivateCluster>;
