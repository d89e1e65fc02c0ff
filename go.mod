module github.com/sampan-hk/sampan

go 1.26.8
