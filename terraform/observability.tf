# Log-based metrics from the structured logs (every `event` is a named line in src/logs.ts), a
# dashboard and alert policies. google_logging_metric: value_extractor / label_extractors use the
# EXTRACT and REGEXP_EXTRACT functions (https://cloud.google.com/logging/docs/logs-based-metrics).

locals {
  counter_metrics = {
    round_closed     = { event = local.log_events.round_closed, label = "runId", description = "Rounds closed with a new model version" }
    round_failed     = { event = local.log_events.round_failed, label = "runId", description = "Rounds that failed (quorum not met by the deadline)" }
    update_rejected  = { event = local.log_events.update_rejected, label = "hospitalId", description = "Hospital updates rejected by the aggregator" }
    message_rejected = { event = local.log_events.message_rejected, label = "reason", description = "Malformed (poison) messages acknowledged and audited" }
    run_halted       = { event = local.log_events.run_halted, label = "runId", description = "Runs halted (privacy budget exhausted or convergence)" }
  }

  distribution_metrics = {
    epsilon_spent = {
      event       = local.log_events.round_closed
      extractor   = "EXTRACT(jsonPayload.epsilon)"
      label       = "runId"
      unit        = "1"
      description = "Hospital-level epsilon of the run after each closed round"
    }
    round_seconds = {
      event       = local.log_events.round_closed
      extractor   = "EXTRACT(jsonPayload.durationSeconds)"
      label       = "runId"
      unit        = "s"
      description = "Round duration, from round.started to the aggregator closing the round"
    }
    training_seconds = {
      event       = local.log_events.job_trained
      extractor   = "EXTRACT(jsonPayload.seconds)"
      label       = "hospitalId"
      unit        = "s"
      description = "Local training time of a hospital in one round"
    }
    # The evaluation job's line (jobs/train/index.ts) carries AUROC only in its message text.
    evaluation_auroc = {
      event       = local.log_events.job_finished
      extractor   = "REGEXP_EXTRACT(jsonPayload.message, \"AUROC ([0-9.]+)\")"
      label       = null
      unit        = "1"
      description = "AUROC a hospital measured for a model version on its own test split"
    }
  }
}

resource "google_logging_metric" "counters" {
  for_each = local.counter_metrics
  project  = var.project_id
  name     = "himas/${each.key}"
  filter   = "jsonPayload.event=\"${each.value.event}\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = each.value.description
    labels {
      key        = lower(each.value.label)
      value_type = "STRING"
    }
  }

  label_extractors = {
    (lower(each.value.label)) = "EXTRACT(jsonPayload.${each.value.label})"
  }
}

resource "google_logging_metric" "distributions" {
  for_each        = local.distribution_metrics
  project         = var.project_id
  name            = "himas/${each.key}"
  filter          = "jsonPayload.event=\"${each.value.event}\""
  value_extractor = each.value.extractor

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = each.value.unit
    display_name = each.value.description
    dynamic "labels" {
      for_each = each.value.label == null ? [] : [lower(each.value.label)]
      content {
        key        = labels.value
        value_type = "STRING"
      }
    }
  }

  label_extractors = each.value.label == null ? {} : {
    (lower(each.value.label)) = "EXTRACT(jsonPayload.${each.value.label})"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 40
      growth_factor      = 1.25
      scale              = 0.01
    }
  }
}

locals {
  metric_type = { for name, m in merge(google_logging_metric.counters, google_logging_metric.distributions) : name => "logging.googleapis.com/user/${m.name}" }

  # A tile per panel the issue asks for; gen2 functions report as Cloud Run revisions.
  dashboard_tiles = [
    { title = "Rounds closed / failed", filter = "metric.type=\"${local.metric_type.round_closed}\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM" },
    { title = "Failed rounds", filter = "metric.type=\"${local.metric_type.round_failed}\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM" },
    { title = "Round duration (p50, s)", filter = "metric.type=\"${local.metric_type.round_seconds}\"", aligner = "ALIGN_PERCENTILE_50", reducer = "REDUCE_NONE" },
    { title = "Local training time per round (p50, s)", filter = "metric.type=\"${local.metric_type.training_seconds}\"", aligner = "ALIGN_PERCENTILE_50", reducer = "REDUCE_NONE" },
    { title = "AUROC reported by hospitals (p50)", filter = "metric.type=\"${local.metric_type.evaluation_auroc}\"", aligner = "ALIGN_PERCENTILE_50", reducer = "REDUCE_NONE" },
    { title = "Hospital-level epsilon spent (max)", filter = "metric.type=\"${local.metric_type.epsilon_spent}\"", aligner = "ALIGN_PERCENTILE_99", reducer = "REDUCE_NONE" },
    { title = "Rejected updates", filter = "metric.type=\"${local.metric_type.update_rejected}\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM" },
    { title = "Function 5xx responses", filter = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND metric.label.response_code_class=\"5xx\" AND resource.label.service_name=starts_with(\"himas-\")", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM" },
    { title = "Dead-lettered messages", filter = "metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type=\"pubsub_subscription\"", aligner = "ALIGN_SUM", reducer = "REDUCE_SUM" },
  ]
}

resource "google_monitoring_dashboard" "himas" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "HIMAS federated training"
    mosaicLayout = {
      columns = 12
      tiles = [for i, t in local.dashboard_tiles : {
        xPos   = (i % 2) * 6
        yPos   = floor(i / 2) * 4
        width  = 6
        height = 4
        widget = {
          title = t.title
          xyChart = {
            dataSets = [{
              plotType = "LINE"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter = t.filter
                  aggregation = {
                    alignmentPeriod    = "60s"
                    perSeriesAligner   = t.aligner
                    crossSeriesReducer = t.reducer
                  }
                }
              }
            }]
          }
        }
      }]
    }
  })
}

locals {
  alerts = {
    budget = {
      display_name = "HIMAS: privacy budget near exhaustion"
      filter       = "metric.type=\"${local.metric_type.epsilon_spent}\" AND resource.type=\"cloud_run_revision\""
      aligner      = "ALIGN_PERCENTILE_99"
      threshold    = var.epsilon_alert_threshold
      doc          = "A closed round reported hospital-level epsilon above ${var.epsilon_alert_threshold}. The privacy guardian halts the run before it exceeds its budget; check `himas status` / the runs/{runId} document and decide whether to stop."
    }
    halted = {
      display_name = "HIMAS: run halted"
      filter       = "metric.type=\"${local.metric_type.run_halted}\" AND resource.type=\"cloud_run_revision\""
      aligner      = "ALIGN_SUM"
      threshold    = 0
      doc          = "A run was halted (budget exhausted or convergence). The workflow stops after the current round."
    }
    failed_round = {
      display_name = "HIMAS: failed round"
      filter       = "metric.type=\"${local.metric_type.round_failed}\" AND resource.type=\"cloud_run_revision\""
      aligner      = "ALIGN_SUM"
      threshold    = 0
      doc          = "A round failed: fewer accepted updates than the quorum by the deadline. Look at the hospital jobs' executions (Cloud Run > Jobs > himas-train-*) and the rejected-update log lines."
    }
    dead_letter = {
      display_name = "HIMAS: dead-lettered messages"
      filter       = "metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type=\"pubsub_subscription\""
      aligner      = "ALIGN_SUM"
      threshold    = 0
      doc          = "The aggregator failed a message ${var.max_delivery_attempts} times. Pull it from the *-dead-letter-hold subscription, read the aggregator's errors, fix, and republish."
    }
  }
}

# A log-based metric's descriptor takes minutes to reach Cloud Monitoring: an alert policy created
# right after it fails with "Cannot find metric(s) ... could take up to 10 minutes" (provider issue
# #11102). Waits once, when the metrics are first created (and again if their set changes).
resource "time_sleep" "metrics_reach_monitoring" {
  create_duration = "600s"
  triggers = {
    metrics = join(",", sort(values(local.metric_type)))
  }
  depends_on = [google_logging_metric.counters, google_logging_metric.distributions]
}

resource "google_monitoring_alert_policy" "alerts" {
  for_each              = local.alerts
  project               = var.project_id
  display_name          = each.value.display_name
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = each.value.display_name
    condition_threshold {
      filter          = each.value.filter
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = each.value.aligner
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    content   = each.value.doc
    mime_type = "text/markdown"
  }

  depends_on = [time_sleep.metrics_reach_monitoring]
}
