module helm-render

go 1.19
