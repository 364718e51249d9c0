module bluegreen.local/images

go 1.24
