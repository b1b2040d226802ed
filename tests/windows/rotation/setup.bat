@echo off
rem Set-up for main.bat: one Octopus Server, two listening Tentacles and one
rem polling Tentacle on loopback, installed where the real products install,
rem each running as a Windows service (the Service Control Manager's). The
rem ports come from the environment (COMMS_PORT, TENTACLE_PORT, TENTACLE2_PORT).
setlocal
set SERVER=C:\Program Files\Octopus Deploy\Octopus\Octopus.Server.exe
set TENTACLE=C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe
"%SERVER%" create-instance --instance OctopusServer >nul
if errorlevel 1 exit /b 1
"%SERVER%" configure --instance OctopusServer --commsListenPort %COMMS_PORT% --commsListenAddress 127.0.0.1 >nul
if errorlevel 1 exit /b 1
"%SERVER%" show-thumbprint --instance OctopusServer --export-file="%TEMP%\server.txt" 2>nul
if errorlevel 1 exit /b 1
set /p SERVER_TP=<"%TEMP%\server.txt"

call :listening Web01 %TENTACLE_PORT%
if errorlevel 1 exit /b 1
call :listening Web02 %TENTACLE2_PORT%
if errorlevel 1 exit /b 1

rem The polling Tentacle: no port of its own; it connects to the Server.
"%TENTACLE%" create-instance --instance Poll01 >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" new-certificate --instance Poll01 --if-blank >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" configure --instance Poll01 --trust=%SERVER_TP% --noListen true >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" server-comms --instance Poll01 --style TentacleActive --host 127.0.0.1 --port %COMMS_PORT% >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" show-configuration --instance Poll01 --file "%TEMP%\poll01.json" 2>nul
if errorlevel 1 exit /b 1
rem Its subscription id, from the line '"SubscriptionId": "poll://.../",'
rem (find, not findstr: wine 8.0's findstr is a stub).
for /f "tokens=2 delims=, " %%s in ('type "%TEMP%\poll01.json" ^| find "poll://"') do set SUBSCRIPTION=%%~s
"%TENTACLE%" show-thumbprint --instance Poll01 --export-file="%TEMP%\poll01.txt" 2>nul
if errorlevel 1 exit /b 1
set /p POLL_TP=<"%TEMP%\poll01.txt"
"%SERVER%" add-target --name poll01 --subscription %SUBSCRIPTION% --thumbprint %POLL_TP% >nul
if errorlevel 1 exit /b 1

"%SERVER%" service --instance OctopusServer --install --start
if errorlevel 1 exit /b 1
"%TENTACLE%" service --instance Poll01 --install --start
if errorlevel 1 exit /b 1
"%SERVER%" health-check --instance OctopusServer
if errorlevel 1 exit /b 1
exit /b 0

rem A listening Tentacle, instance %1 on port %2, installed and started, and
rem its deployment target (named in lower case).
:listening
"%TENTACLE%" create-instance --instance %1 >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" new-certificate --instance %1 --if-blank >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" configure --instance %1 --port %2 --listenIpAddress 127.0.0.1 --trust=%SERVER_TP% >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" show-thumbprint --instance %1 --export-file="%TEMP%\%1.txt" 2>nul
if errorlevel 1 exit /b 1
set /p TP=<"%TEMP%\%1.txt"
set NAME=%1
"%SERVER%" add-target --name %NAME% --address https://127.0.0.1:%2 --thumbprint %TP% >nul
if errorlevel 1 exit /b 1
"%TENTACLE%" service --instance %1 --install --start
if errorlevel 1 exit /b 1
exit /b 0
