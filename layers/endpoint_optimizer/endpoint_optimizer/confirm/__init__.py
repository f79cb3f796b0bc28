"""Inference Recommender in the loop: the AWS side of confirming a rightsize, Graviton or serverless
move with a benchmark (the decisions are in decide.confirm). Shared by the CLI's `recommend` and the
recommend Lambda.

- observed.read_baseline: the endpoint today (p99 ModelLatency, busiest minute) from CloudWatch.
- payload.sample_payload / payload_from: the .tar.gz of sample requests (tag, argument, Data Capture).
- jobs: start, reuse, describe, stop, failed steps, and the run's spend cap.
- arm64_model: a Graviton benchmark's throwaway model on the arm64 build of the image (made, deleted).
- endpoint: start_confirmation / finish_confirmation (the steps in order), scan_endpoint, the CLI JSON.
- workflow: the recommend Lambda's steps (start, poll, stop, finish) for the "Confirm moves" map.
"""
