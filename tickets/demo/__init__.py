"""Demo data, not business services: the demo accounts and their sandbox credential
(`accounts`, for `make run`) and bulk seeding of realistic issued tickets (`seeding`, for
benchmarks and demos at scale). Unlike the services, the demo may import the sandbox."""
