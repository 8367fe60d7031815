"""Where a finished result goes: one protocol (base.Sink), one module per audience.

- log_line: the result as one log line, or a summary and numbered parts;
- metrics: the counts, as CloudWatch metrics;
- sns_notice: the SNS notice (notice_subject: its subject line);
- config: AWS Config's PutEvaluations;
- securityhub: Security Hub's BatchUpdateFindings (securityhub_update decides the updates);
- split: the pure splitter of a result too large for one message or log line.

Each module's docstring says its failure policy; `service.SINKS` wires them, in order.
"""

from egress_guard.sinks.base import AwsClients, Delivery, MetricCounter, Sink, deliver

__all__ = ["AwsClients", "Delivery", "MetricCounter", "Sink", "deliver"]
