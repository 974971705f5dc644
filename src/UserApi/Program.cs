// Entry point of the UserApi HTTP service; the composition lives in Hosting/UserApiApplication.cs.
using UserApiService.Hosting;

UserApiApplication.Build(args).Run();
