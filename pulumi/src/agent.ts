/**
 * The CloudWatch agent's configuration and the files it reads on an instance. No Pulumi imports:
 * the user data renderer (and its tests, and a rehearsal) use this without loading the AWS SDK.
 */

export const METRICS_NAMESPACE = (stack: string) => `DAPANDA/${stack}`;

/** Paths the boot script and the units' drop-ins write (userdata.ts). */
export const LOG_FILES = {
  web: '/var/log/dapanda/web.log',
  worker: '/var/log/dapanda/worker.log',
  boot: '/var/log/dapanda-boot.log',
} as const;
export const PROMETHEUS_CONFIG_PATH = '/opt/aws/amazon-cloudwatch-agent/etc/dapanda-prometheus.yaml';

/** The agent's JSON configuration (stored in SSM; fetched by the agent at boot). */
export function agentConfig(stack: string, groups: { web: string; worker: string; boot: string; prometheus: string }) {
  const file = (path: string, group: string) => ({
    file_path: path,
    log_group_name: group,
    log_stream_name: '{instance_id}',
    timestamp_format: '%Y-%m-%dT%H:%M:%S',
  });
  return {
    agent: { metrics_collection_interval: 60, run_as_user: 'root' },
    metrics: {
      namespace: 'CWAgent',
      append_dimensions: { AutoScalingGroupName: '${aws:AutoScalingGroupName}', InstanceId: '${aws:InstanceId}' },
      // Memory scaling acts on the group's average, not one instance's.
      aggregation_dimensions: [['AutoScalingGroupName']],
      metrics_collected: {
        mem: { measurement: ['mem_used_percent'] },
        disk: {
          measurement: ['used_percent'],
          resources: ['/'],
          ignore_file_system_types: ['sysfs', 'devtmpfs', 'tmpfs', 'overlay'],
        },
      },
    },
    logs: {
      force_flush_interval: 15,
      logs_collected: {
        files: {
          collect_list: [
            file(LOG_FILES.web, groups.web),
            file(LOG_FILES.worker, groups.worker),
            file(LOG_FILES.boot, groups.boot),
          ],
        },
        prometheus: {
          log_group_name: groups.prometheus,
          prometheus_config_path: PROMETHEUS_CONFIG_PATH,
          emf_processor: {
            metric_declaration_dedup: true,
            metric_namespace: METRICS_NAMESPACE(stack),
            metric_declaration: [
              {
                source_labels: ['job'],
                label_matcher: '^dapanda$',
                dimensions: [['role']],
                metric_selectors: [
                  '^dapanda_ws_connections$',
                  '^dapanda_auctions_closed_total$',
                  '^process_resident_memory_bytes$',
                  '^nodejs_eventloop_lag_p99_seconds$',
                ],
              },
            ],
          },
        },
      },
    },
  };
}

/** The agent's Prometheus scrape of the app's metrics ports on the instance itself. */
export function prometheusScrapeConfig(): string {
  return [
    'global:',
    '  scrape_interval: 60s',
    '  scrape_timeout: 10s',
    'scrape_configs:',
    '  - job_name: dapanda',
    '    static_configs:',
    "      - targets: ['127.0.0.1:9464', '127.0.0.1:9465']",
    '',
  ].join('\n');
}
