# The worker's target builds for the wrong architecture and without lambda.norpc.
GO ?= go
BUILD := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath

.PHONY: build-WorkerFunction build-TimerFunction
build-WorkerFunction:
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o $(ARTIFACTS_DIR)/bootstrap ./functions/worker

build-TimerFunction:
	$(BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/timer
