module github.com/extractor-dev/extractor

go 1.26

require (
	github.com/go-text/typesetting v0.3.5
	github.com/ledongthuc/pdf v0.0.0-20260907135840-6c8c28e0e8a0
)

require golang.org/x/image v0.23.0 // indirect
