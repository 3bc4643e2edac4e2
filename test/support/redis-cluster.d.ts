export interface PrivateCluster {
  /** Seed node URLs, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  ports: number[];
  pids: Array<number | undefined>;
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

export function startPrivateCluster(): Promise<PrivateCluster>;
