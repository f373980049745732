module github.com/hearth-social/hearth

go 1.26.8
