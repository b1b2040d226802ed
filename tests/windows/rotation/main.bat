@echo off
rem The one-command rotations as a Windows operator runs them from a batch
rem file: the Server's certificate across the fleet, then every Tentacle's
rem own, with listening and polling Tentacles, a health check after each
rem and an audit before and after. Every command's failure ends the script
rem ("if errorlevel 1"). Set up by setup.bat.
setlocal
cd /d "C:\Program Files\Octopus Deploy\Octopus"

echo == Audit before
Octopus.Server.exe audit-certificates --instance OctopusServer
echo audit exit code: %ERRORLEVEL%

echo == Rotate the Server's certificate across the fleet
Octopus.Server.exe rotate-certificate --instance OctopusServer
if errorlevel 1 exit /b 1
Octopus.Server.exe health-check --instance OctopusServer
if errorlevel 1 exit /b 1
Octopus.Server.exe rotate-certificate --instance OctopusServer --status
if errorlevel 1 exit /b 1

echo == Rotate every Tentacle's certificate
rem One at a time, so that the lines come in the targets' order.
Octopus.Server.exe rotate-target-certificate --instance OctopusServer --all --parallel 1
if errorlevel 1 exit /b 1
Octopus.Server.exe health-check --instance OctopusServer
if errorlevel 1 exit /b 1

echo == Audit after
Octopus.Server.exe audit-certificates --instance OctopusServer
echo audit exit code: %ERRORLEVEL%

echo == The services, then their removal
Octopus.Server.exe service --instance OctopusServer --stop --uninstall
if errorlevel 1 exit /b 1
for %%i in (Web01 Web02 Poll01) do (
  "C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe" service --instance %%i --stop --uninstall
  if errorlevel 1 exit /b 1
)
echo == Done
exit /b 0
