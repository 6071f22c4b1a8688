# The settings of the local stack (`make dev`), shared by dev.sh and the tools that run against
# a running `make dev` (import-convex.sh): each keeps a value already set.
# shellcheck shell=bash

export TABLE_NAME="${TABLE_NAME:-saas-local}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export WORKOS_CLIENT_ID="${WORKOS_CLIENT_ID:-client_local_dev}"
export WORKOS_API_KEY="${WORKOS_API_KEY:-sk_test_default}"
# WorkOS webhook deliveries from the emulator are signed with this secret (dev.sh registers it).
export WORKOS_WEBHOOK_SECRET="${WORKOS_WEBHOOK_SECRET:-local-workos-webhook-secret}"
# Billing: the example events are test-mode events signed with this secret (make billing-event).
export LEMONSQUEEZY_WEBHOOK_SECRET="${LEMONSQUEEZY_WEBHOOK_SECRET:-local-webhook-secret}"
# The checkout tags (POST /billing/checkout, and make billing-event's custom data) are keyed by this.
export CHECKOUT_TAG_SECRET="${CHECKOUT_TAG_SECRET:-local-checkout-tag-secret}"
export LEMONSQUEEZY_ALLOW_TEST_MODE="${LEMONSQUEEZY_ALLOW_TEST_MODE:-true}"
default_plans='{"free": {"name": "Free", "maxCustomers": 10, "maxStaff": 3, "maxClients": 5},
  "variants": {"500001": {"name": "Pro", "maxCustomers": 100, "maxStaff": 25, "maxClients": 100}}}'
export PLANS="${PLANS:-$default_plans}"
