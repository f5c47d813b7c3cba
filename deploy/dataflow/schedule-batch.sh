#!/usr/bin/env bash
# A Cloud Scheduler job that launches the newsbeam Flex Template (one incremental batch run) on a
# schedule, through the Dataflow flexTemplates:launch API.
#
#   PROJECT=my-project REGION=europe-west1 BUCKET=my-bucket \
#   IMAGE=europe-west1-docker.pkg.dev/my-project/newsbeam/newsbeam:0.1.0 \
#   SERVICE_ACCOUNT=newsbeam@my-project.iam.gserviceaccount.com \
#   [SCHEDULE='*/30 * * * *'] deploy/dataflow/schedule-batch.sh
#
# SERVICE_ACCOUNT calls the API (roles/dataflow.developer, roles/iam.serviceAccountUser on itself)
# and runs the workers (roles/dataflow.worker, read/write on the bucket). Runs pick up where the
# last one stopped: validators, the seen-items ledger and the story index live in gs://BUCKET/news/_state/.
# The job name is fixed: while one run is still active, Dataflow refuses to start another job with
# the same name, which keeps to one run at a time per state store.
set -euo pipefail
: "${PROJECT:?set PROJECT}" "${REGION:?set REGION}" "${BUCKET:?set BUCKET}" "${IMAGE:?set IMAGE}" "${SERVICE_ACCOUNT:?set SERVICE_ACCOUNT}"
SCHEDULE="${SCHEDULE:-*/30 * * * *}"
TEMPLATE="${TEMPLATE:-gs://$BUCKET/templates/newsbeam.json}"
JOB="${JOB:-newsbeam-batch}"

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
cat > "$body" <<JSON
{
  "launchParameter": {
    "jobName": "$JOB",
    "containerSpecGcsPath": "$TEMPLATE",
    "parameters": {
      "feeds": "gs://$BUCKET/config/feeds.txt",
      "catalog": "gs://$BUCKET/config/stories.toml",
      "output": "gs://$BUCKET/news"
    },
    "environment": {
      "sdkContainerImage": "$IMAGE",
      "tempLocation": "gs://$BUCKET/tmp",
      "stagingLocation": "gs://$BUCKET/staging",
      "serviceAccountEmail": "$SERVICE_ACCOUNT",
      "maxWorkers": 4
    }
  }
}
JSON

gcloud scheduler jobs create http "$JOB" \
  --project="$PROJECT" --location="$REGION" \
  --schedule="$SCHEDULE" --time-zone="Etc/UTC" \
  --uri="https://dataflow.googleapis.com/v1b3/projects/$PROJECT/locations/$REGION/flexTemplates:launch" \
  --http-method=POST \
  --headers="Content-Type=application/json" \
  --oauth-service-account-email="$SERVICE_ACCOUNT" \
  --oauth-token-scope="https://www.googleapis.com/auth/cloud-platform" \
  --message-body-from-file="$body"
