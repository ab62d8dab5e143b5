module remoteidv

go 1.26

require (
	github.com/Kagami/go-face v0.0.0-20210630145111-0c14797b4d0e // indirect
	github.com/google/go-cmp v0.7.0 // indirect
)
